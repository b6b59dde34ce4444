/** Installs a Debian package a test needs when its file is missing, as `.ci/run` does, if this process may (root with apt-get). */

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** Makes sure `path` exists, installing `pkg` with apt-get when it does not; throws saying what to run otherwise. */
export async function ensureDebianPackage(path: string, pkg: string): Promise<void> {
  if (await exists(path)) return;
  if (Deno.uid() === 0 && await exists("/usr/bin/apt-get")) {
    for (const args of [["update", "-qq"], ["install", "-y", "-qq", pkg]]) {
      const { success, stderr } = await new Deno.Command("apt-get", { args, stdout: "null", stderr: "piped" })
        .output();
      if (!success) throw new Error(`apt-get ${args.join(" ")} failed: ${new TextDecoder().decode(stderr)}`);
    }
    if (await exists(path)) return;
  }
  throw new Error(
    `${path} is missing and this process cannot install it: run apt-get install -y ${pkg} (.ci/run does)`,
  );
}

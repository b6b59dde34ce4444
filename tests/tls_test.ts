/** TLS: the server over TLS (gRPC and web), callers trusting its CA, client certificates, and no plaintext off loopback. */
import { equal, match, ok, rejects } from "node:assert/strict";
import { Client } from "../client.ts";
import { Code, type StupidModalError } from "../mod.ts";
import { makeCertificates } from "./helpers/certificates.ts";
import { deployFixture } from "./helpers/deploy.ts";
import { serverPermissions, startTestServer } from "./helpers/test_server.ts";

const serverPath = new URL("../server.ts", import.meta.url).pathname;

Deno.test("TLS: calls over TLS, a plaintext or untrusting caller is refused, client certificates when required", async (t) => {
  const certs = await makeCertificates();
  const tlsFlags = [`--tls-cert=${certs.serverCert}`, `--tls-key=${certs.serverKey}`];
  try {
    await t.step("a caller trusting the CA calls; plaintext and a wrong CA fail with UNAVAILABLE", async () => {
      const server = await startTestServer(tlsFlags);
      try {
        const ca = await Deno.readTextFile(certs.ca);
        const trusting = new Client({ server: server.address, token: server.token, ca });
        const plain = new Client({ server: server.address, token: server.token });
        const wrong = new Client({ server: server.address, token: server.token, ca: certs.otherCa });
        try {
          equal((await trusting.listApps()).apps.length, 0);
          await rejects(plain.listApps(), (err: StupidModalError) => err.code === Code.UNAVAILABLE);
          await rejects(wrong.listApps(), (err: StupidModalError) => err.code === Code.UNAVAILABLE);
        } finally {
          for (const client of [trusting, plain, wrong]) client.close();
        }
        const webUrl = server.output.find((line) => line.startsWith("web endpoints on "))!;
        match(webUrl, /^web endpoints on https:\/\/127\.0\.0\.1:\d+\//, "the web port serves HTTPS too");
        const base = webUrl.replace("web endpoints on ", "").replace("<app>/<function>", "nope/fn");
        // Twenty requests over one HTTP/2 connection, each answered before its body is read: every
        // answer must arrive whole (an unread body once ended curl's stream with a framing error).
        const curl = await new Deno.Command("curl", {
          args: [
            "-sS",
            "--cacert",
            certs.ca,
            "-H",
            `Authorization: Bearer ${server.token}`,
            "-d",
            "[]",
            ...Array(20).fill(base),
          ],
          stdout: "piped",
          stderr: "piped",
        }).output();
        const answers = new TextDecoder().decode(curl.stdout).match(/"code":"NOT_FOUND"/g) ?? [];
        equal(answers.length, 20, new TextDecoder().decode(curl.stderr));
      } finally {
        await server.stop();
      }
    });

    await t.step(
      "with --tls-client-ca, a caller without a certificate is refused and one with it calls a function",
      async () => {
        const server = await startTestServer([...tlsFlags, `--tls-client-ca=${certs.ca}`]);
        const env = {
          STUPID_MODAL_CA: certs.ca,
          STUPID_MODAL_CLIENT_CERT: certs.clientCert,
          STUPID_MODAL_CLIENT_KEY: certs.clientKey,
        };
        try {
          // The deploy runs in another process configured only through the environment.
          await deployFixture(server, "tests/fixtures/versioned_v1.ts", env);
          const withCert = new Client({
            server: server.address,
            token: server.token,
            ca: certs.ca,
            clientCert: certs.clientCert,
            clientKey: certs.clientKey,
          });
          const without = new Client({ server: server.address, token: server.token, ca: certs.ca });
          try {
            equal(await withCert.call({ appName: "versioned", functionName: "whoami" }, [1, 0]), "v1:1");
            await rejects(without.listApps(), (err: StupidModalError) => err.code === Code.UNAVAILABLE);
          } finally {
            withCert.close();
            without.close();
          }
        } finally {
          await server.stop();
        }
      },
    );

    await t.step("a non-loopback address without TLS is refused at start, naming the flags", async () => {
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", ...serverPermissions, serverPath, "--host=0.0.0.0", "--port=0", "--data-dir=/nonexistent/never"],
        env: { STUPID_MODAL_TOKEN: "t", NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      equal(output.code, 1);
      const text = new TextDecoder().decode(output.stderr) + new TextDecoder().decode(output.stdout);
      match(text, /refusing to listen on 0\.0\.0\.0 without TLS; give --tls-cert and --tls-key, or pass --insecure/);
      ok(!/listening on/.test(text));
    });

    await t.step("half a TLS configuration or an unreadable file is a clear start-up error", async () => {
      const start = async (flags: string[]) => {
        const output = await new Deno.Command(Deno.execPath(), {
          args: ["run", ...serverPermissions, serverPath, "--port=0", "--data-dir=/nonexistent/never", ...flags],
          env: { STUPID_MODAL_TOKEN: "t", NO_COLOR: "1" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        return { code: output.code, text: new TextDecoder().decode(output.stderr) };
      };
      const half = await start([`--tls-cert=${certs.serverCert}`]);
      equal(half.code, 2, "a usage error");
      match(half.text, /--tls-cert and --tls-key go together/);
      const missing = await start([`--tls-cert=${certs.dir}/nope.pem`, `--tls-key=${certs.serverKey}`]);
      equal(missing.code, 1);
      match(missing.text, /cannot read --tls-cert .*nope\.pem/);
    });
  } finally {
    await Deno.remove(certs.dir, { recursive: true });
  }
});

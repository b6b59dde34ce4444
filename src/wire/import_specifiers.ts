/** Finds the module specifiers a TypeScript source imports, statically or with a literal import(). */

const patterns = [
  /(?:^|[^\w$.])(?:import|export)\s[^'";]*?\sfrom\s*(['"])([^'"\n]+)\1/g,
  /(?:^|[^\w$.])import\s*(['"])([^'"\n]+)\1/g,
  /(?:^|[^\w$.])import\s*\(\s*(['"])([^'"\n]+)\1\s*[,)]/g,
];

/** The import specifiers of a module's source text, each once, in order of first appearance. */
export function importSpecifiers(source: string): string[] {
  const found = new Set<string>();
  for (const pattern of patterns) {
    for (const match of source.matchAll(pattern)) found.add(match[2]);
  }
  return [...found];
}

/** Whether a specifier names a local module that must be shipped with the app's code. */
export function isLocalSpecifier(specifier: string): boolean {
  return specifier.startsWith("./") || specifier.startsWith("../") ||
    specifier.startsWith("/") || specifier.startsWith("file:");
}

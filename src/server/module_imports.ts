/**
 * Every module specifier a shipped TypeScript module names, found by TypeScript's own parser (a
 * regular expression can be fooled by comments, strings and regex literals). The server relies on
 * this before it lets `deno cache` near the code, so nothing outside the app is ever read.
 */
import type ts from "typescript";

// Loaded on the first registration, not at server start (it is large).
let typescript: typeof ts | undefined;

/** What a module imports: literal specifiers, and whether it has any computed `import()`. */
export interface ModuleImports {
  specifiers: string[];
  computedDynamicImport: boolean;
  /** Whether the parser read it without a syntax error (false also when it could not tell). */
  parsed: boolean;
}

/** Parses one module's source and lists its imports, re-exports and literal dynamic imports. */
export async function moduleImports(path: string, source: string): Promise<ModuleImports> {
  typescript ??= (await import("typescript")).default;
  const ts = typescript;
  const file = ts.createSourceFile(path, source, ts.ScriptTarget.Latest, false, scriptKind(ts, path));
  const specifiers = new Set<string>();
  let computedDynamicImport = false;
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) specifiers.add(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expression = node.moduleReference.expression;
      if (ts.isStringLiteral(expression)) specifiers.add(expression.text);
    } else if (ts.isImportTypeNode(node)) {
      const argument = node.argument;
      if (ts.isLiteralTypeNode(argument) && ts.isStringLiteral(argument.literal)) specifiers.add(argument.literal.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [first] = node.arguments;
      if (first && (ts.isStringLiteral(first) || ts.isNoSubstitutionTemplateLiteral(first))) specifiers.add(first.text);
      else computedDynamicImport = true;
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  // The parser's own list of syntax errors (not part of TypeScript's typed API; absent means unknown).
  const errors = (file as unknown as { parseDiagnostics?: unknown[] }).parseDiagnostics;
  return { specifiers: [...specifiers], computedDynamicImport, parsed: errors?.length === 0 };
}

function scriptKind(ts: typeof typescript & object, path: string): ts.ScriptKind {
  if (path.endsWith(".tsx")) return ts.ScriptKind.TSX;
  if (path.endsWith(".jsx")) return ts.ScriptKind.JSX;
  if (/\.[mc]?js$/.test(path)) return ts.ScriptKind.JS;
  if (path.endsWith(".json")) return ts.ScriptKind.JSON;
  return ts.ScriptKind.TS;
}

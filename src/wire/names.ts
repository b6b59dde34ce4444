/** What makes a valid app or function name, checked alike by the SDK and the server. */

/** 1–63 letters, digits, ".", "_" or "-", starting with a letter or digit. */
export function isAppName(name: string): boolean {
  return /^[A-Za-z0-9][\w.-]{0,62}$/.test(name);
}

/** A JavaScript identifier. */
export function isFunctionName(name: string): boolean {
  return /^[A-Za-z_$][\w$]*$/.test(name);
}

/** A secret's name follows the app-name rule. */
export function isSecretName(name: string): boolean {
  return isAppName(name);
}

/** An environment variable name a secret may set: letters, digits and "_", not starting with a digit. */
export function isEnvName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name);
}

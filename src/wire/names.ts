/** What makes a valid app or function name, checked alike by the SDK and the server. */

/** 1–63 letters, digits, ".", "_" or "-", starting with a letter or digit. */
export function isAppName(name: string): boolean {
  return /^[A-Za-z0-9][\w.-]{0,62}$/.test(name);
}

/** A JavaScript identifier. */
export function isFunctionName(name: string): boolean {
  return /^[A-Za-z_$][\w$]*$/.test(name);
}

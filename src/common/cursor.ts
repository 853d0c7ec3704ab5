/**
 * The one cursor encoding of the API: opaque base64url text. What goes inside differs by
 * connection (a keyset's sort values as JSON, an array index, a message id); the encoding does
 * not, so every cursor a client sees is made and read here.
 */

/** The opaque cursor for `text`. */
export function encodeCursor(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}

/** The text inside a cursor (not validated: each connection checks what it expects). */
export function decodeCursor(cursor: string): string {
  return Buffer.from(cursor, "base64url").toString("utf8");
}

/**
 * Text search for `$text` queries over a text index: tokenizing, a light English stemmer,
 * stop words, phrases ("…") and negations (-word), and a score for `{ $meta: "textScore" }`.
 * The index keeps an inverted map term → document keys so a search reads only candidates.
 */
import type { Doc } from "./values.js";
import { valuesAtPath } from "./values.js";

const STOP_WORDS = new Set("a an and are as at be but by for from has have i in is it its of on or that the this to was were will with you your".split(" "));

function fold(s: string, caseSensitive: boolean, diacriticSensitive: boolean): string {
  let out = caseSensitive ? s : s.toLocaleLowerCase("en-US");
  if (!diacriticSensitive) out = out.normalize("NFD").replace(/\p{M}/gu, "");
  return out;
}

/** A deliberately small stemmer: plural and common verb endings, enough for chat search. */
export function stem(word: string): string {
  if (word.length <= 3) return word;
  if (word.endsWith("ies") && word.length > 4) return word.slice(0, -3) + "y";
  if (word.endsWith("sses")) return word.slice(0, -2);
  if (word.endsWith("ing") && word.length > 5) return word.slice(0, -3);
  if (word.endsWith("ed") && word.length > 4) return word.slice(0, -2);
  if (word.endsWith("es") && /(ch|sh|x|z)es$/.test(word)) return word.slice(0, -2);
  if (word.endsWith("s") && !word.endsWith("ss") && !word.endsWith("us")) return word.slice(0, -1);
  return word;
}

export function tokenize(text: string, caseSensitive = false, diacriticSensitive = false): string[] {
  const words = fold(text, caseSensitive, diacriticSensitive).match(/[\p{L}\p{N}_]+/gu) ?? [];
  return words.filter((w) => !STOP_WORDS.has(w.toLowerCase())).map(stem);
}

export interface ParsedSearch {
  terms: string[];
  phrases: string[];
  negated: string[];
}

export function parseSearch(search: string, caseSensitive: boolean, diacriticSensitive: boolean): ParsedSearch {
  const phrases: string[] = [];
  const rest = search.replace(/"([^"]*)"/g, (_m, p: string) => {
    if (p.trim()) phrases.push(fold(p, caseSensitive, diacriticSensitive));
    return " ";
  });
  const terms: string[] = [];
  const negated: string[] = [];
  for (const raw of rest.split(/\s+/).filter(Boolean)) {
    if (raw.startsWith("-") && raw.length > 1) negated.push(...tokenize(raw.slice(1), caseSensitive, diacriticSensitive));
    else terms.push(...tokenize(raw, caseSensitive, diacriticSensitive));
  }
  for (const p of phrases) terms.push(...tokenize(p, caseSensitive, diacriticSensitive));
  return { terms: [...new Set(terms)], phrases, negated };
}

/** The text index's fields with weights (the key `$**` indexes every string field). */
export type TextFields = Array<{ path: string; weight: number }>;

function stringsOf(value: unknown, out: string[]): void {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) for (const v of value) stringsOf(v, out);
  else if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) stringsOf(v, out);
  }
}

function fieldTexts(doc: Doc, fields: TextFields): Array<{ text: string; weight: number }> {
  const out: Array<{ text: string; weight: number }> = [];
  for (const f of fields) {
    const strings: string[] = [];
    if (f.path === "$**") stringsOf(doc, strings);
    else for (const v of valuesAtPath(doc, f.path, false)) stringsOf(v, strings);
    for (const s of strings) out.push({ text: s, weight: f.weight });
  }
  return out;
}

/** Terms a document contributes to the inverted index. */
export function documentTerms(doc: Doc, fields: TextFields): Set<string> {
  const terms = new Set<string>();
  for (const { text } of fieldTexts(doc, fields)) for (const t of tokenize(text)) terms.add(t);
  return terms;
}

/**
 * Scores a document for a parsed search, or returns 0 when it does not match: at least one term
 * (or every phrase) must occur, and no negated term may. Like MongoDB, each field adds
 * weight × a frequency factor per matching term.
 */
export function scoreDocument(doc: Doc, fields: TextFields, q: ParsedSearch, caseSensitive: boolean, diacriticSensitive: boolean): number {
  const texts = fieldTexts(doc, fields);
  const folded = texts.map((t) => fold(t.text, caseSensitive, diacriticSensitive));
  for (const p of q.phrases) if (!folded.some((t) => t.includes(p))) return 0;
  let score = 0;
  let matched = false;
  for (const { text, weight } of texts) {
    const tokens = tokenize(text, caseSensitive, diacriticSensitive);
    if (q.negated.some((n) => tokens.includes(n))) return 0;
    if (tokens.length === 0) continue;
    for (const term of q.terms) {
      const freq = tokens.filter((t) => t === term).length;
      if (freq > 0) {
        matched = true;
        score += weight * (freq / tokens.length + 0.5) * 1.0;
      }
    }
  }
  if (!matched && q.phrases.length === 0) return 0;
  return score || (q.phrases.length ? 1 : 0);
}

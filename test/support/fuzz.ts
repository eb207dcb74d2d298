/** Settings and checks every fast-check property of the suite shares. */
import assert from 'node:assert/strict';
import { DOMParser } from '@xmldom/xmldom';
import { ERRORS } from '../../src/errors/index.js';
import { namespaceErrors } from './atom-validator.js';

/**
 * Reproducible when asked, random otherwise (fast-check prints the seed of a failing run): replay
 * a run with FUZZ_SEED=<seed>, and FUZZ_PATH=<path> to jump straight to its counterexample.
 */
export const FC_PARAMS = {
  includeErrorInReport: true,
  ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}),
  ...(process.env.FUZZ_PATH ? { path: process.env.FUZZ_PATH } : {}),
};

/**
 * XML parse errors found by independent parsers (xmldom, and sax for what Namespaces in XML forbids
 * and xmldom lets through), as a strict namespace-aware reader such as expat finds them; empty means
 * well-formed.
 */
export function xmlErrors(xml: string): string[] {
  const errors: string[] = namespaceErrors(xml);
  try {
    const doc = new DOMParser({
      onError: (level, message) => {
        if (level !== 'warning') errors.push(`${level}: ${message}`);
      },
    }).parseFromString(xml, 'application/xml');
    if (!doc.documentElement) errors.push('no document element');
  } catch (error) {
    if (errors.length === 0) errors.push(String(error));
  }
  return errors;
}

function isKnownCode(code: unknown): code is keyof typeof ERRORS {
  return typeof code === 'string' && Object.hasOwn(ERRORS, code);
}

/** Every 4xx is an RFC 9457 document whose code is a catalogued one with this very status. */
export function assertProblem(status: number, contentType: string | undefined, body: string, context: string): void {
  assert.match(contentType ?? '', /^application\/problem\+json\b/, `${status} is not problem+json (${context}): ${body.slice(0, 300)}`);
  const problem = JSON.parse(body) as Record<string, unknown>;
  assert.equal(problem.status, status, `problem.status (${context})`);
  assert.equal(typeof problem.title, 'string', `problem.title (${context})`);
  assert.equal(typeof problem.detail, 'string', `problem.detail (${context})`);
  assert.ok(isKnownCode(problem.code), `unknown problem code ${String(problem.code)} (${context})`);
  assert.equal(ERRORS[problem.code].status, status, `code ${problem.code} is not a ${status} (${context})`);
}

export function assertNot5xx(status: number, body: string, context: string): void {
  assert.ok(status < 500, `${status} for ${context}: ${body.slice(0, 300)}`);
}

/**
 * Checks what callers ask of consumer groups before it reaches a store, the same for every store:
 * a bad name or a number out of range is INVALID_PARAMETER naming the field, never a database error.
 */
import { AtomMQError } from '../errors/index.js';
import { quoted } from '../errors/quote.js';
import { isFeedName, NAME_RULE } from '../names.js';
import {
  GROUP_LIMITS,
  type ClaimRequest, type ExtendRequest, type GroupRef, type GroupSettings, type MoveRequest, type NackRequest,
  type ReceiptRequest, type RequeueRequest,
} from './groups.js';

export function checkRef(ref: GroupRef): void {
  if (!isFeedName(ref.group)) {
    invalid(`group name ${quoted(ref.group)}: ${NAME_RULE}`);
  }
}

export function checkSettings(settings: Partial<GroupSettings>): void {
  optionalInteger(settings.leaseSeconds, 'leaseSeconds', 1, GROUP_LIMITS.seconds);
  optionalInteger(settings.maxDeliveries, 'maxDeliveries', 1, GROUP_LIMITS.maxDeliveries);
  if (settings.start !== undefined && settings.start !== 'earliest' && settings.start !== 'latest') {
    invalid(`start ${quoted(settings.start)}: "earliest" or "latest"`);
  }
}

export function checkClaim(request: ClaimRequest): void {
  checkRef(request);
  integer(request.limit, 'limit', 1, GROUP_LIMITS.batch);
  optionalInteger(request.leaseSeconds, 'leaseSeconds', 1, GROUP_LIMITS.seconds);
  checkSettings(request.settings ?? {});
}

export function checkReceipts(request: ReceiptRequest): void {
  checkRef(request);
  const { receipts } = request;
  if (!Array.isArray(receipts) || receipts.length === 0 || receipts.length > GROUP_LIMITS.batch) {
    invalid(`receipts: a list of 1 to ${GROUP_LIMITS.batch} receipts`);
  }
  if (receipts.some((r) => typeof r !== 'string')) invalid('receipts: each receipt is a string');
}

export function checkNack(request: NackRequest): void {
  checkReceipts(request);
  optionalInteger(request.delaySeconds, 'delaySeconds', 0, GROUP_LIMITS.seconds);
  const { reason } = request;
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > GROUP_LIMITS.reason)) {
    invalid(`reason: a string of at most ${GROUP_LIMITS.reason} characters`);
  }
}

export function checkExtend(request: ExtendRequest): void {
  checkReceipts(request);
  optionalInteger(request.leaseSeconds, 'leaseSeconds', 1, GROUP_LIMITS.seconds);
}

export function checkRequeue(request: RequeueRequest): void {
  checkRef(request);
  const { seqs } = request;
  if (seqs === undefined) return;
  if (!Array.isArray(seqs) || seqs.length === 0 || seqs.length > GROUP_LIMITS.batch) {
    invalid(`seqs: a list of 1 to ${GROUP_LIMITS.batch} seqs, or none to requeue every dead message`);
  }
  for (const seq of seqs) integer(seq, 'seqs', 1, Number.MAX_SAFE_INTEGER);
}

export function checkMove(request: MoveRequest): void {
  checkRef(request);
  if (request.position !== 'earliest' && request.position !== 'latest') integer(request.position, 'position', 0, Number.MAX_SAFE_INTEGER);
}

export function checkPage(after: number, limit: number): void {
  integer(after, 'after', 0, Number.MAX_SAFE_INTEGER);
  integer(limit, 'limit', 1, GROUP_LIMITS.batch);
}

function optionalInteger(value: unknown, field: string, min: number, max: number): void {
  if (value !== undefined) integer(value, field, min, max);
}

function integer(value: unknown, field: string, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    invalid(`${field} ${quoted(value)}: an integer from ${min} to ${max}`);
  }
}

function invalid(detail: string): never {
  throw new AtomMQError('INVALID_PARAMETER', detail);
}

/** Infrastructure faults, thrown from `src/` and adapters and mapped once at each edge. */

/** A writer appended at a version the stream has moved past. */
export class VersionConflictError extends Error {
  override name = "VersionConflictError";
  constructor(readonly stream: string, readonly expected: number, readonly actual: number) {
    super(
      `Cannot append to stream '${stream}' at version ${expected}: current version is ${actual}`,
    );
  }
}

/** A batch of events larger than one store transaction can hold. */
export class AppendTooLargeError extends Error {
  override name = "AppendTooLargeError";
  constructor(message: string) {
    super(message);
  }
}

/** A stream id or tag a store cannot keep apart from another (not well-formed Unicode). */
export class InvalidKeyError extends Error {
  override name = "InvalidKeyError";
  constructor(message: string) {
    super(message);
  }
}

/** A command whose every append lost to another writer of its stream, up to the limit. */
export class ConflictRetriesExhaustedError extends Error {
  override name = "ConflictRetriesExhaustedError";
  constructor(readonly stream: string, readonly attempts: number, cause?: unknown) {
    super(
      `Cannot append to stream '${stream}' as another writer moved it on each of ${attempts} attempts`,
      { cause },
    );
  }
}

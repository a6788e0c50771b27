/** Structured JSON log lines on stderr, filtered by level. Never pass tokens or secrets. */

/** Log levels, least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** A logger: one method per level, each taking a message and fields. */
export type Logger = Record<LogLevel, (msg: string, fields?: Record<string, unknown>) => void>;

/**
 * A logger writing one JSON object per line to stderr, from `level` up; each line carries
 * `base` (a cluster node's name).
 */
export function createLogger(
  level: LogLevel = "info",
  base: Record<string, unknown> = {},
): Logger {
  const line = (lvl: LogLevel) => (msg: string, fields: Record<string, unknown> = {}) => {
    if (RANK[lvl] < RANK[level]) return;
    const time = new Date().toISOString();
    console.error(JSON.stringify({ time, level: lvl, ...base, msg, ...fields }));
  };
  return { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error") };
}

const drop = () => {};

/** A logger that drops everything (tests). */
export const silentLogger: Logger = { debug: drop, info: drop, warn: drop, error: drop };

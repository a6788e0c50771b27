/**
 * Metrics in the Prometheus text format (version 0.0.4): counters and histograms the
 * runtime updates, and gauges read when `/metrics` is scraped.
 */

type Labels = Record<string, string>;

function key(labels: Labels): string {
  return Object.keys(labels).sort().map((k) => `${k}="${escape(labels[k])}"`).join(",");
}

function escape(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

class Counter {
  readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.values.size === 0) lines.push(`${this.name} 0`);
    for (const [k, v] of this.values) lines.push(`${this.name}${k ? `{${k}}` : ""} ${v}`);
    return lines;
  }
}

class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[]) {
    this.counts = buckets.map(() => 0);
  }
  observe(value: number): void {
    this.sum += value;
    this.count++;
    this.buckets.forEach((b, i) => {
      if (value <= b) this.counts[i]++;
    });
  }
  render(): string[] {
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} histogram`,
      ...this.buckets.map((b, i) => `${this.name}_bucket{le="${b}"} ${this.counts[i]}`),
      `${this.name}_bucket{le="+Inf"} ${this.count}`,
      `${this.name}_sum ${this.sum}`,
      `${this.name}_count ${this.count}`,
    ];
  }
}

/** A gauge read at scrape time: one value, or one per label set. */
type Gauge = { name: string; help: string; read: () => number | [Labels, number][] };

/** The engine's metrics. */
export class Metrics {
  readonly commands = new Counter("chat_commands_total", "Commands decided, by type.");
  readonly events = new Counter("chat_events_total", "Events recorded, by type.");
  readonly rejections = new Counter(
    "chat_rejected_commands_total",
    "Commands refused, by error code.",
  );
  readonly appendSeconds = new Histogram(
    "chat_append_duration_seconds",
    "Time to append one batch to the event store.",
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  );
  readonly batchSize = new Histogram(
    "chat_append_batch_events",
    "Events per store append (group commit).",
    [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
  );
  readonly httpRequests = new Counter(
    "chat_http_requests_total",
    "HTTP requests, by route and status.",
  );
  readonly indexFailures = new Counter(
    "chat_index_write_failures_total",
    "History index writes that failed (retried with backoff).",
  );
  readonly indexSkipped = new Counter(
    "chat_index_entries_skipped_total",
    "History index entries that can never be written, skipped (their events stay in the log).",
  );
  readonly #gauges: Gauge[] = [];

  /** Adds a gauge read at scrape time. */
  gauge(name: string, help: string, read: Gauge["read"]): void {
    this.#gauges.push({ name, help, read });
  }

  /** The exposition text. */
  render(): string {
    const lines: string[] = [];
    const counters = [this.commands, this.events, this.rejections, this.httpRequests];
    for (const m of [...counters, this.indexFailures, this.indexSkipped]) {
      lines.push(...m.render());
    }
    lines.push(...this.appendSeconds.render(), ...this.batchSize.render());
    for (const g of this.#gauges) {
      lines.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`);
      const value = g.read();
      if (typeof value === "number") lines.push(`${g.name} ${value}`);
      else for (const [labels, v] of value) lines.push(`${g.name}{${key(labels)}} ${v}`);
    }
    return `${lines.join("\n")}\n`;
  }
}

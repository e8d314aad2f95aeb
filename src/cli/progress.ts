/**
 * A one-line progress display for long CLI work: count, rate and, when the total is known, an
 * ETA. It draws only on a terminal (stderr is a TTY) so piped output and logs stay clean.
 */
export class Progress {
  readonly #label: string;
  readonly #stream: NodeJS.WriteStream;
  readonly #started = process.hrtime.bigint();
  #lastDraw = 0;
  #count = 0;
  #fraction: number | undefined;

  constructor(label: string, stream: NodeJS.WriteStream = process.stderr) {
    this.#label = label;
    this.#stream = stream;
  }

  /** `fraction` (0..1) of the whole work done so far, when it is known. */
  update(count: number, fraction?: number): void {
    this.#count = count;
    this.#fraction = fraction;
    const now = Date.now();
    if (this.#stream.isTTY && now - this.#lastDraw >= 200) {
      this.#lastDraw = now;
      this.#stream.write(`\r\x1b[K${this.line()}`);
    }
  }

  /** Clears the progress line. */
  done(): void {
    if (this.#stream.isTTY) this.#stream.write("\r\x1b[K");
  }

  elapsedSeconds(): number {
    return Number(process.hrtime.bigint() - this.#started) / 1e9;
  }

  rate(): number {
    const seconds = this.elapsedSeconds();
    return seconds > 0 ? this.#count / seconds : 0;
  }

  line(): string {
    let text = `${this.#label}: ${this.#count.toLocaleString("en-US")} events, ${Math.round(this.rate()).toLocaleString("en-US")}/s`;
    const fraction = this.#fraction;
    if (fraction !== undefined && fraction > 0) {
      const remaining = (this.elapsedSeconds() / fraction) * (1 - fraction);
      text += `, ${Math.floor(fraction * 100)}%, ETA ${formatDuration(remaining)}`;
    }
    return text;
  }
}

function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

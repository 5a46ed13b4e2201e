/** Longest the log stays silent about failures that go on (or come and go). */
const REPEAT_MS = 60_000;

/**
 * Tells the operator when the journal cannot write (a full disk, a failing device), how
 * much it refused, and when it writes again. While writes fail every append is refused,
 * so runs fail and messages get 5xx; without a line in the log the only trace would be in
 * client answers. A nearly full disk flaps (large writes fail, small ones fit), so after
 * the first failure and the first recovery the log is told at most once a minute, each
 * line with what was refused since the one before.
 */
export class WriteFailureNotice {
  private failing = false;
  /** The last line said writes fail (so the next success is told at once). */
  private toldFailing = false;
  private lastToldAt = Number.NEGATIVE_INFINITY;
  /** Since the last line: events refused, and writes that failed. */
  private refused = 0;
  private failedWrites = 0;
  /** Write failures since the store opened (for metrics). */
  failures = 0;

  constructor(
    private readonly tell: (message: string) => void,
    private readonly now: () => number,
  ) {}

  /** A write failed, refusing `refused` events; `fatal`: nothing will be written again. */
  failed(message: string, refused: number, fatal: boolean): void {
    this.failures += 1;
    this.failedWrites += 1;
    this.refused += refused;
    this.failing = true;
    const quiet = this.now() - this.lastToldAt >= REPEAT_MS;
    if (fatal) this.say(`writes stopped: ${message}; ${this.sinceLast()}; every append is refused until the daemon restarts`, true);
    else if (quiet) this.say(`cannot write: ${message}; ${this.sinceLast()}; appends (and the runs making them) fail until a write succeeds`, true);
  }

  /** A write succeeded: ends a stretch of failures, if one was going. */
  succeeded(): void {
    if (!this.failing) return;
    this.failing = false;
    if (this.toldFailing || this.now() - this.lastToldAt >= REPEAT_MS) this.say(this.failedWrites > 0 ? `writes again; ${this.sinceLast()}` : 'writes again', false);
  }

  private sinceLast(): string {
    return `${this.refused} event(s) refused in ${this.failedWrites} failed write(s)${Number.isFinite(this.lastToldAt) ? ' since the last report' : ''}`;
  }

  private say(line: string, failing: boolean): void {
    this.tell(line);
    this.toldFailing = failing;
    this.lastToldAt = this.now();
    this.refused = 0;
    this.failedWrites = 0;
  }
}

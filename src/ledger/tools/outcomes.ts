import { isProblem, type RowLine } from '../lines.js';
import { OffsetIndex } from '../offset-index.js';
import { scanRowKey, type RowKey } from '../scan-line.js';
import { parseLine, type Snapshot } from './snapshot.js';

// "Where does each user stand now?" for the tools, in one streaming pass that keeps two byte
// offsets per (target, user), like the import's own index.
//
// A user's current outcome on a target is their latest row line, except a `duplicate_user`
// failure: that line describes a CSV (a second row for someone already handled), not the user,
// and the import ignores it in the same way. Lines that name no user (an empty id cell, a record
// that could not be parsed) and duplicate rows are *row problems*: they belong to one run's CSV,
// so only those of the latest run on each target are still current.

export type Currency = 'user' | 'problem';

export class Outcomes {
  private constructor(
    private readonly index: OffsetIndex,
    /** Target → the run of its last row line. */
    private readonly latestRun: ReadonlyMap<string, string>,
  ) {}

  /** Pass 1 over `snapshot`. */
  static async build(snapshot: Snapshot): Promise<Outcomes> {
    const index = new OffsetIndex();
    const lastRow = new Map<string, number>();
    const key: RowKey = { type: undefined, target: undefined, user: undefined, remote: false };
    for await (const { texts, offsets } of snapshot.texts()) {
      for (let i = 0; i < texts.length; i++) {
        const text = texts[i]!;
        let target: string;
        let user: string;
        let problem: boolean;
        if (scanRowKey(text, key)) {
          if (key.type !== 'row' || key.target === undefined || key.user === undefined) continue;
          target = key.target;
          user = key.user;
          // Cheap test first: only a line that mentions the code can be a duplicate.
          problem = user === '' || (text.includes('"duplicate_user"') && isProblem(parseLine(text) as RowLine));
        } else {
          const line = parseLine(text);
          if (line?.type !== 'row') continue;
          ({ target, user } = line);
          problem = isProblem(line);
        }
        lastRow.set(target, offsets[i]!);
        if (!problem) index.record(target, user, offsets[i]!, false);
      }
    }
    const latestRun = new Map<string, string>();
    for (const [target, offset] of lastRow) {
      const line = await snapshot.lineAt(offset);
      if (line) latestRun.set(target, line.run);
    }
    return new Outcomes(index, latestRun);
  }

  /**
   * Whether the row line found at `offset` is current: `user` for a user's current outcome,
   * `problem` for a row problem of its target's latest run, undefined for history.
   */
  classify(line: RowLine, offset: number): Currency | undefined {
    if (isProblem(line)) return this.latestRun.get(line.target) === line.run ? 'problem' : undefined;
    return this.index.find(line.target, line.user)?.latest === offset ? 'user' : undefined;
  }

  /** The run that wrote the latest row line for `target`. */
  latestRunOf(target: string): string | undefined {
    return this.latestRun.get(target);
  }

  get targets(): string[] {
    return [...this.latestRun.keys()];
  }
}

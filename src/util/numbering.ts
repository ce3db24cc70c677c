/** Numbers values from 0 in the order they first come (a value is a Map key: same value, same
 * number). `values[n]` is the value numbered n. */
export class Numbering<T> {
  readonly values: T[] = [];
  readonly #numbers = new Map<T, number>();

  of(value: T): number {
    let n = this.#numbers.get(value);
    if (n === undefined) {
      n = this.values.length;
      this.#numbers.set(value, n);
      this.values.push(value);
    }
    return n;
  }
}

// Who exists, with which avatar_version: one bulk GET /users with the administrator's key at
// start-up (the admin key is one rate-limit bucket, 2000 requests an hour: one request per row
// would not do), matched case-insensitively on delivery_email, which admins see even when the
// organisation shows others only a dummy `email`.
import type { ZulipUser } from './api.js';

export class Directory {
  readonly #byEmail = new Map<string, ZulipUser>();
  /** Users whose real address the administrator cannot see (email visibility "nobody"). */
  readonly hidden: number;

  constructor(users: readonly ZulipUser[]) {
    let hidden = 0;
    for (const user of users) {
      if (user.deliveryEmail === null) {
        hidden++;
        continue;
      }
      this.#byEmail.set(user.deliveryEmail.toLowerCase(), user);
    }
    this.hidden = hidden;
  }

  get size(): number {
    return this.#byEmail.size;
  }

  lookup(email: string): ZulipUser | undefined {
    return this.#byEmail.get(email.toLowerCase());
  }

  /** Keep the cache true to what the tool just set or learnt. */
  remember(user: ZulipUser): void {
    if (user.deliveryEmail !== null) this.#byEmail.set(user.deliveryEmail.toLowerCase(), user);
  }
}

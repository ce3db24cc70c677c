// Apart from the target's code so that declaring the target (src/targets/zulip/index.ts) does not
// load it, and with it the network stack, at start-up.

/** Zulip renders a 500 px "medium" avatar and upscales smaller ones (§1). */
export const PREFERRED_EDGE = 500;

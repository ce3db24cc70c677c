// What the decoder threads (worker.ts) and the pool (decode.ts) say to each other.

export interface DecodeRequest {
  readonly id: number;
  readonly bytes: Uint8Array;
  /** --max-pixels: a larger image is refused before it is decoded. */
  readonly maxPixels: number;
}

export type DecodeReply =
  | {
      readonly id: number;
      readonly width: number;
      readonly height: number;
      readonly channels: 3 | 4;
      readonly pixels: Uint8Array;
      /** The embedded ICC profile (iPhones: Display P3). */
      readonly icc?: Uint8Array;
      /** Or, for an nclx colour description, its colour primaries (H.273: 1 sRGB, 12 P3, 9 BT.2020). */
      readonly primaries?: number;
    }
  | { readonly id: number; readonly tooLarge: { readonly width: number; readonly height: number } }
  | { readonly id: number; readonly error: string };

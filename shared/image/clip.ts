// CLIP image preprocessing constants: openai/CLIP clip/clip.py `_transform` (Resize(n_px, BICUBIC),
// CenterCrop(n_px), convert("RGB"), ToTensor, Normalize) and open_clip constants.py agree on these.

export const CLIP_IMAGE_SIZE = 224;
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;
/** Floats in one preprocessed image: 3 x 224 x 224 planar. */
export const CLIP_TENSOR_LENGTH = 3 * CLIP_IMAGE_SIZE * CLIP_IMAGE_SIZE;

/** Limits of the image checks, shared by the agent and the page. */
export interface ImageLimits {
  /** Files smaller than this are dropped as `too-small` (tracking pixels, icons). */
  minBytes: number;
  /** width x height above this is a decompression bomb (Pillow's default MAX_IMAGE_PIXELS). */
  maxPixels: number;
}
export const DEFAULT_IMAGE_LIMITS: ImageLimits = { minBytes: 5 * 1024, maxPixels: 89_478_484 };

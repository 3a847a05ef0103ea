/** Why an input image was refused: unreadable or out of bounds, a URL the SSRF guard refuses, or a download that failed. */
export type ImageRejectReason = 'invalid_image' | 'image_url_not_allowed' | 'image_fetch_failed';

/**
 * An input image refused by fetchImage or inspectImage: the user's fault, not
 * ours. `message` is the sentence the user reads, naming the image by `param`
 * ("images[0]"); where the ports are wired (src/compose/services.ts) it
 * becomes the API's 400 with `reason` as its code.
 */
export class ImageRejected extends Error {
  readonly reason: ImageRejectReason;
  readonly param: string;

  constructor(reason: ImageRejectReason, message: string, param: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ImageRejected';
    this.reason = reason;
    this.param = param;
  }
}

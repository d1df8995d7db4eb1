/** A media file that cannot be read as asked: the message names the file and what was expected. */
export class MediaError extends Error {
  constructor(
    readonly file: string,
    readonly detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'MediaError';
  }
}

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { runInProcess } from 'run-in-process';

export interface FileDigest {
  algorithm: string;
  digest: string;
  bytes: number;
  /** The process that did the hashing. */
  pid: number;
  /** The module the child imported to run the method: inside the app's node_modules. */
  module: string;
}

export class FileHasher {
  constructor(public algorithm = 'sha256') {}

  @runInProcess
  async hashFile(path: string): Promise<FileDigest> {
    const hash = createHash(this.algorithm);
    let bytes = 0;
    for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
    }
    return { algorithm: this.algorithm, digest: hash.digest('hex'), bytes, pid: process.pid, module: import.meta.url };
  }
}

export { FileHasher, type FileDigest } from './file-hasher.js';

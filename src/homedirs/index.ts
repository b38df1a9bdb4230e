/** Home directories and ~/.forward on the file server. */
export { createHomeDirs, PRIVATE_FILE_NAME, type HomeDirsOptions } from './home-dirs';
export { homePath, checkOwner, classifyFsError, HOME_NAME } from './paths';

/** Home directories and ~/.forward on the file server. */
export { createHomeDirs, type HomeDirsOptions } from './home-dirs';
export { homePath, checkOwner, classifyFsError, HOME_NAME } from './paths';

/** The Mailman 3 REST adapter. */
export { createMailman, checkListName, checkAddress, type MailmanOptions } from './mailman';
export { classifyMailmanStatus, classifyFetchError } from './classify';

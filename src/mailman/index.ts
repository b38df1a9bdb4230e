/** The Mailman 3 REST adapter. */
export { createMailman, mailmanFromConfig, mailmanOptionsFromConfig, checkListName, checkAddress, type MailmanOptions } from './mailman';
export { classifyMailmanStatus, classifyFetchError } from './classify';

'use strict';

// An answer the app gives on purpose: its status, its message, and for 405 the methods it allows.
class HttpError extends Error {
  constructor(status, message, allow) {
    super(message);
    this.status = status;
    this.allow = allow;
  }
}

module.exports = { HttpError };

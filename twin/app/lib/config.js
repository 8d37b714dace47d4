'use strict';
// The app's settings, from the environment the app tier gives it: /etc/wedsync/app.env (the
// seed's settings and S3_BUCKET), /run/wedsync/secrets.env (each secret wedsync/<env>/<name> by its
// JSON keys: an upper-case key as it is, a lower-case one after the secret's name, so the database
// secret's username is DATABASE_USERNAME and the redis secret's auth_token REDIS_AUTH_TOKEN) and
// /run/wedsync/settings.env (the SSM parameters under /wedsync/<env>/app/, by the upper-cased last
// part of their names). The seed's DATABASE_URL and REDIS_URL win when set; otherwise the URLs are
// made from what the database, cache and secrets roles publish.
const parseDatabaseUrl = require('pg-connection-string');

const SIZE_UNITS = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

class ConfigError extends Error {}

function integer(env, name, fallback, min) {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  if (!/^[0-9]+$/.test(text) || Number(text) < min) {
    throw new ConfigError(`${name}=${text} is not a whole number of at least ${min}`);
  }
  return Number(text);
}

// The seed writes sizes as express does: 50mb, 512kb, or bytes alone.
function size(env, name, fallback) {
  const text = (env[name] || fallback).trim().toLowerCase();
  const match = /^([0-9]+(?:\.[0-9]+)?)\s*(b|kb|mb|gb)?$/.exec(text);
  if (!match) throw new ConfigError(`${name}=${env[name]} is not a size such as 50mb, 512kb or 1048576`);
  return Math.floor(Number(match[1]) * SIZE_UNITS[match[2] || 'b']);
}

function endpoint(text, name) {
  const match = /^([^:,\s]+):([0-9]+)$/.exec(text.trim());
  if (!match) throw new ConfigError(`${name} holds "${text}", not host:port`);
  return { host: match[1], port: Number(match[2]) };
}

// Each component's settings, or the reason it has none: a missing dependency fails its own
// check in /api/health/deep, not the app's start.
function primary(env) {
  if (env.DATABASE_URL) {
    const { host, port, user, password, database, ssl } = parseDatabaseUrl(env.DATABASE_URL);
    return { host, port: Number(port || 5432), user, password, database, ssl };
  }
  const required = ['DB_WRITER_ENDPOINT', 'DB_NAME', 'DATABASE_USERNAME', 'DATABASE_PASSWORD'];
  const missing = required.filter((name) => !env[name]);
  if (missing.length) return { error: `not configured: DATABASE_URL is not set, nor ${missing.join(', ')}` };
  return {
    ...endpoint(env.DB_WRITER_ENDPOINT, 'DB_WRITER_ENDPOINT'),
    user: env.DATABASE_USERNAME,
    password: env.DATABASE_PASSWORD,
    database: env.DB_NAME,
  };
}

// A read replica takes the primary's credentials and database, as RDS replicas do.
function readers(env, writer) {
  if (writer.error) return { error: writer.error };
  if (!env.DB_READER_ENDPOINTS) return { error: 'not configured: DB_READER_ENDPOINTS is not set' };
  const targets = env.DB_READER_ENDPOINTS.split(',').map((text) => ({
    ...writer,
    ...endpoint(text, 'DB_READER_ENDPOINTS'),
  }));
  // The database role publishes the writer as the reader when an environment has no replica.
  const writerOnly = targets.every((t) => t.host === writer.host && t.port === writer.port);
  return { targets, writerOnly };
}

function redis(env) {
  if (!env.REDIS_URL) {
    const missing = ['REDIS_HOST', 'REDIS_PORT'].filter((name) => !env[name]);
    if (missing.length) return { error: `not configured: REDIS_URL is not set, nor ${missing.join(', ')}` };
    // The cache role's groups always encrypt in transit; REDIS_AUTH_TOKEN is the redis secret's auth_token.
    const password = env.REDIS_AUTH_TOKEN || '';
    return { ...endpoint(`${env.REDIS_HOST}:${env.REDIS_PORT}`, 'REDIS_HOST:REDIS_PORT'), tls: true, password };
  }
  let url;
  try {
    url = new URL(env.REDIS_URL);
  } catch {
    throw new ConfigError('REDIS_URL is not a URL such as rediss://:<token>@<host>:<port>');
  }
  if (!['redis:', 'rediss:'].includes(url.protocol)) throw new ConfigError('REDIS_URL must start with redis:// or rediss://');
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    tls: url.protocol === 'rediss:',
    username: decodeURIComponent(url.username) || undefined,
    password: decodeURIComponent(url.password),
  };
}

function s3(env) {
  const endpointUrl = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || '';
  return {
    bucket: env.S3_BUCKET || '',
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || '',
    endpoint: endpointUrl.replace(/\/+$/, ''),
    imds: env.AWS_EC2_METADATA_DISABLED === 'true' ? '' : env.AWS_EC2_METADATA_SERVICE_ENDPOINT || 'http://169.254.169.254',
    credentials: env.AWS_ACCESS_KEY_ID
      ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY || '', sessionToken: env.AWS_SESSION_TOKEN || '' }
      : null,
  };
}

function load(env) {
  const writer = primary(env);
  const cache = redis(env);
  const storage = s3(env);
  const config = {
    port: integer(env, 'PORT', 3000, 1),
    // The address to listen on, all of the host's when unset (on the twin, the instance's own loopback one).
    host: env.HOST || undefined,
    workers: integer(env, 'WORKER_PROCESSES', 1, 1),
    requestTimeout: integer(env, 'REQUEST_TIMEOUT', 30000, 1), // milliseconds, as the seed sets it
    maxRequestSize: size(env, 'MAX_REQUEST_SIZE', '50mb'),
    // Not /run/wedsync: that directory is root's alone (it holds the secrets).
    faultFile: env.WEDSYNC_FAULT_FILE || '/run/wedsync-app/fault.json',
    primary: writer,
    readers: readers(env, writer),
    redis: cache,
    s3: storage,
  };
  config.secrets = [writer.password, cache.password, storage.credentials && storage.credentials.secretAccessKey,
    storage.credentials && storage.credentials.sessionToken, env.DATABASE_URL, env.REDIS_URL].filter(Boolean);
  return config;
}

// Whatever an error says, the values of secrets and the passwords in URLs never reach an answer or a log.
function redactor(secrets) {
  return (text) => {
    let out = String(text).replace(/\/\/[^/@\s]*:[^/@\s]*@/g, '//***@');
    for (const secret of secrets()) {
      if (secret) out = out.split(secret).join('***');
    }
    return out;
  };
}

module.exports = { load, redactor, ConfigError };

'use strict';
// Just enough AWS for a health check: Signature Version 4, credentials from the environment or the
// instance profile (IMDSv2), and S3 HeadBucket.
const crypto = require('node:crypto');
const http = require('node:http');
const https = require('node:https');

const EMPTY_SHA256 = crypto.createHash('sha256').update('').digest('hex');

const hmac = (key, text) => crypto.createHmac('sha256', key).update(text, 'utf8').digest();
const sha256 = (text) => crypto.createHash('sha256').update(text, 'utf8').digest('hex');

// The headers of a signed request: the given ones plus host, x-amz-date, x-amz-content-sha256,
// the session token when there is one, and Authorization. `path` is already URI-encoded.
function sign({ method, host, path, query = '', headers = {}, payloadHash = EMPTY_SHA256, region, service, credentials, now = new Date() }) {
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.[0-9]{3}/, '');
  const day = amzDate.slice(0, 8);
  const all = { ...headers, host, 'x-amz-date': amzDate, 'x-amz-content-sha256': payloadHash };
  if (credentials.sessionToken) all['x-amz-security-token'] = credentials.sessionToken;
  const canonical = {};
  for (const [name, value] of Object.entries(all)) canonical[name.toLowerCase()] = String(value).trim().replace(/\s+/g, ' ');
  const names = Object.keys(canonical).sort();
  const signedHeaders = names.join(';');
  const request = [method, path, query, names.map((n) => `${n}:${canonical[n]}\n`).join(''), signedHeaders, payloadHash].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(request)].join('\n');
  const key = [day, region, service, 'aws4_request'].reduce(hmac, `AWS4${credentials.secretAccessKey}`);
  const signature = crypto.createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  return {
    ...all,
    authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  };
}

// One HTTP exchange; the signal abandons it (the socket is destroyed).
function fetchText(url, { method = 'GET', headers = {}, signal } = {}) {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const client = target.protocol === 'https:' ? https : http;
    const request = client.request(target, { method, headers, signal }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, body }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });
}

// IMDSv2, as the SDKs use it: a session token, then the instance profile's role and its keys.
class InstanceMetadata {
  constructor(endpoint) {
    this.endpoint = endpoint;
    this.cached = null;
  }

  async get(path, signal) {
    const base = this.endpoint.replace(/\/+$/, '');
    const token = await fetchText(`${base}/latest/api/token`, {
      method: 'PUT',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '300' },
      signal,
    });
    if (token.status !== 200) throw new Error(`instance metadata token: HTTP ${token.status}`);
    const answer = await fetchText(`${base}/latest/${path}`, { headers: { 'x-aws-ec2-metadata-token': token.body }, signal });
    if (answer.status !== 200) throw new Error(`instance metadata ${path}: HTTP ${answer.status}`);
    return answer.body.trim();
  }

  // Kept until five minutes before they expire, as the SDKs keep them.
  async credentials(signal) {
    if (this.cached && this.cached.expires - Date.now() > 5 * 60 * 1000) return this.cached.credentials;
    const role = (await this.get('meta-data/iam/security-credentials/', signal)).split('\n')[0];
    if (!role) throw new Error('no instance profile role in the instance metadata');
    const keys = JSON.parse(await this.get(`meta-data/iam/security-credentials/${role}`, signal));
    const credentials = { accessKeyId: keys.AccessKeyId, secretAccessKey: keys.SecretAccessKey, sessionToken: keys.Token };
    this.cached = { credentials, expires: Date.parse(keys.Expiration) || Date.now() };
    return credentials;
  }
}

class S3 {
  constructor(settings) {
    this.settings = settings;
    this.metadata = settings.imds ? new InstanceMetadata(settings.imds) : null;
    this.region = settings.region;
  }

  // Secrets the instance profile handed out, for redaction.
  secrets() {
    const held = this.metadata && this.metadata.cached;
    return held ? [held.credentials.secretAccessKey, held.credentials.sessionToken] : [];
  }

  async credentials(signal) {
    if (this.settings.credentials) return this.settings.credentials;
    if (!this.metadata) throw new Error('no AWS credentials: AWS_ACCESS_KEY_ID is not set and the instance metadata is disabled');
    return this.metadata.credentials(signal);
  }

  async resolveRegion(signal) {
    if (!this.region) {
      if (!this.metadata) throw new Error('no region: AWS_REGION is not set and the instance metadata is disabled');
      this.region = await this.metadata.get('meta-data/placement/region', signal);
    }
    return this.region;
  }

  // Path-style on a custom endpoint (the twin), virtual-hosted on AWS, as the SDKs address buckets.
  async headBucket(bucket, signal) {
    const region = await this.resolveRegion(signal);
    const credentials = await this.credentials(signal);
    const url = this.settings.endpoint
      ? new URL(`${this.settings.endpoint}/${bucket}`)
      : new URL(`https://${bucket}.s3.${region}.amazonaws.com/`);
    const headers = sign({ method: 'HEAD', host: url.host, path: url.pathname, region, service: 's3', credentials });
    const answer = await fetchText(url, { method: 'HEAD', headers, signal });
    if (answer.status !== 200) {
      throw new Error(`HeadBucket ${bucket}: HTTP ${answer.status}${answer.headers['x-amz-error-code'] ? ` ${answer.headers['x-amz-error-code']}` : ''}`);
    }
    return { region, endpoint: url.origin };
  }
}

module.exports = { sign, S3, InstanceMetadata, EMPTY_SHA256 };

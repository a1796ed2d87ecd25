/**
 * The provider's certificates for http mode: PEM files read at start and on every reload, one
 * chosen per connection by the SNI from the certificates' DNS names. A connection keeps the
 * certificate it was handshaken with; a reload only changes what later connections get.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { HttpSettings } from '../../tenants/schema';

export interface LoadedCertificate {
  /** Where it came from, for logs: the file, or `env:NAME`. */
  readonly certFile: string;
  readonly x509: X509Certificate;
  readonly context: SecureContext;
  /**
   * The PEM bytes: the server's own (default) context is built from the first certificate's, as a
   * tls.Server ignores a `secureContext` option and a ClientHello without SNI never reaches the
   * SNICallback.
   */
  readonly pem: { readonly cert: Buffer; readonly key: Buffer };
  /** SHA-256 fingerprint, for logs. */
  readonly fingerprint: string;
}

/**
 * TLS 1.2 and 1.3 only. Renegotiation is refused per connection (disableRenegotiation) since a
 * renegotiated TLS 1.2 handshake could carry another SNI after the decision.
 */
export const MIN_TLS_VERSION = 'TLSv1.2';

export class CertificateStore {
  private constructor(readonly certificates: readonly LoadedCertificate[]) {}

  /** Reads and checks every file; throws an Error naming the file and the problem. */
  static load(settings: Pick<HttpSettings, 'certificates'>): CertificateStore {
    return new CertificateStore(settings.certificates.map((c) => loadOne(c)));
  }

  /** The certificate for a ClientHello's SNI: the first whose names cover it, else the first listed. */
  select(serverName: string | null | undefined): LoadedCertificate {
    if (serverName) {
      for (const c of this.certificates) if (covers(c, serverName)) return c;
    }
    return this.certificates[0]!;
  }
}

/** The certificate's DNS names (SANs; a `*.` label matches exactly one label) cover `hostname`. */
export function covers(cert: LoadedCertificate, hostname: string): boolean {
  // subject: 'never' — a name only in the CN is not trusted by current clients either.
  return cert.x509.checkHost(hostname, { subject: 'never', partialWildcards: false, multiLabelWildcards: false }) !== undefined;
}

function loadOne(source: HttpSettings['certificates'][number]): LoadedCertificate {
  let cert: Buffer;
  let key: Buffer;
  let certFile: string;
  let keyFile: string;
  if (source.certEnv !== undefined && source.keyEnv !== undefined) {
    // From the environment (ECS injects a Secrets Manager secret there): fixed for the life of
    // the process, so a reload re-checks the same PEM and rotation takes a new task.
    certFile = `env:${source.certEnv}`;
    keyFile = `env:${source.keyEnv}`;
    cert = fromEnv(source.certEnv);
    key = fromEnv(source.keyEnv);
  } else {
    certFile = source.certFile!;
    keyFile = source.keyFile!;
    try {
      cert = readFileSync(certFile);
      key = readFileSync(keyFile);
    } catch (err) {
      throw new Error(`http certificate: ${(err as Error).message}`, { cause: err });
    }
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new Error(`http certificate ${certFile} is not a PEM certificate: ${(err as Error).message}`, { cause: err });
  }
  try {
    if (!x509.checkPrivateKey(createPrivateKey(key))) throw new Error('the key does not belong to the certificate');
  } catch (err) {
    throw new Error(`http certificate ${certFile} with key ${keyFile}: ${(err as Error).message}`, { cause: err });
  }
  if (!x509.subjectAltName?.includes('DNS:')) {
    throw new Error(`http certificate ${certFile} names no DNS subjectAltName: clients would refuse it`);
  }
  const context = createSecureContext({ cert, key, minVersion: MIN_TLS_VERSION });
  return { certFile, x509, context, pem: { cert, key }, fingerprint: x509.fingerprint256 };
}

function fromEnv(name: string): Buffer {
  const value = process.env[name];
  if (!value) throw new Error(`http certificate: environment variable ${name} is not set or empty`);
  return Buffer.from(value, 'utf8');
}

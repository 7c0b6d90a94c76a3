// OpenSSL 3 for SkiffDeploy's HTTPS client: the calls Swift cannot make directly (macros such as
// SSL_set_tlsext_host_name and SSL_CTX_set_min_proto_version), behind one opaque handle. Policy
// (what to trust, what to do about a failed verification or a pinned thumbprint) is in Swift,
// in Sources/SkiffDeploy/TLSConnection.swift; this file only drives OpenSSL.
//
// The socket is non-blocking and owned by the caller. Reads and writes go through a socket BIO of
// our own that sends with MSG_NOSIGNAL, so a peer that resets the connection cannot raise SIGPIPE.
#ifndef SKIFF_TLS_H
#define SKIFF_TLS_H

#include <stddef.h>

typedef struct skiff_tls skiff_tls;

// Which certificates the handshake verifies the server's chain against.
enum skiff_tls_trust {
    SKIFF_TLS_TRUST_SYSTEM = 0,   // OpenSSL's default paths (the system's CA store)
    SKIFF_TLS_TRUST_CA_FILE = 1,  // only the PEM certificates in the ca_files
    SKIFF_TLS_TRUST_NONE = 2,     // no trust store: the verify result is not meaningful
};

// Results of skiff_tls_handshake, skiff_tls_read and skiff_tls_write besides a byte count.
enum {
    SKIFF_TLS_CLOSED = 0,        // read: the peer closed the connection (with or without close_notify)
    SKIFF_TLS_WANT_READ = -1,    // retry when the socket is readable
    SKIFF_TLS_WANT_WRITE = -2,   // retry when the socket is writable
    SKIFF_TLS_ERROR = -3,        // failed: skiff_tls_last_error says why
};

// A client session on the connected socket `fd`. `host` is the server's name or IP literal: the
// certificate must match it (X509_VERIFY_PARAM_set1_host / set1_ip_asc) and it is sent as SNI
// when it is a name. TLS 1.2 is the lowest version offered. The handshake never aborts on a
// verification failure (SSL_VERIFY_NONE); the caller checks skiff_tls_verify_result afterwards,
// before it sends anything. With SKIFF_TLS_TRUST_CA_FILE the certificates of all `ca_file_count`
// PEM files in `ca_files` are trusted (none: nothing is). Returns NULL with a message in `error`
// on failure (a file that cannot be loaded is named).
skiff_tls *skiff_tls_new(int fd, const char *host, int host_is_ip, int trust,
                         const char *const *ca_files, size_t ca_file_count,
                         char *error, size_t error_size);

// 1 when the handshake is complete, or SKIFF_TLS_WANT_READ / _WANT_WRITE / _ERROR.
int skiff_tls_handshake(skiff_tls *tls);

// The X509_V_* result of verifying the server's chain and name (X509_V_OK is 0); -1 when the
// server presented no certificate.
long skiff_tls_verify_result(const skiff_tls *tls);

// X509_verify_cert_error_string for a result of skiff_tls_verify_result.
const char *skiff_tls_verify_error_string(long result);

// The SHA-1 (`sha256` 0) or SHA-256 (`sha256` 1) digest of the server certificate's DER bytes
// into `out` (at least 32 bytes). Returns the digest length, or 0 when there is no certificate.
int skiff_tls_peer_fingerprint(const skiff_tls *tls, int sha256, unsigned char *out);

// Bytes read or written (> 0), or SKIFF_TLS_CLOSED (read only) / _WANT_READ / _WANT_WRITE / _ERROR.
long skiff_tls_read(skiff_tls *tls, void *buffer, size_t size);
long skiff_tls_write(skiff_tls *tls, const void *buffer, size_t size);

// Why the last call failed: OpenSSL's error queue (emptied), else the socket's errno, as one line.
void skiff_tls_last_error(const skiff_tls *tls, char *buffer, size_t size);

// OpenSSL's error queue as one line ("; " between entries), emptied; "" when it is empty.
void skiff_tls_error_queue(char *buffer, size_t size);

// Sends close_notify once (best effort, never waits) and frees the session; does not close `fd`.
void skiff_tls_free(skiff_tls *tls);

#endif

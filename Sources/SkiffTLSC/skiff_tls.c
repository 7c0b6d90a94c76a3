// See include/skiff_tls.h. OpenSSL 3 (libssl-dev); linked with -lssl -lcrypto by Package.swift.
#include "skiff_tls.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

struct skiff_tls {
    SSL_CTX *context;
    SSL *ssl;
    int handshake_done;
    int failed;               // a fatal error happened: no close_notify (SSL_shutdown(3))
    char message[512];        // why the last call failed, captured when it failed
};

// MARK: - A socket BIO that cannot raise SIGPIPE

static int bio_write(BIO *bio, const char *data, int size) {
    int fd = (int)(intptr_t)BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    ssize_t sent = send(fd, data, (size_t)size, MSG_NOSIGNAL);
    if (sent < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_write(bio);
        return -1;
    }
    return (int)sent;
}

static int bio_read(BIO *bio, char *data, int size) {
    int fd = (int)(intptr_t)BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    ssize_t received = recv(fd, data, (size_t)size, 0);
    if (received < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_read(bio);
        return -1;
    }
    return (int)received;
}

static long bio_ctrl(BIO *bio, int command, long number, void *pointer) {
    (void)bio; (void)number; (void)pointer;
    return command == BIO_CTRL_FLUSH ? 1 : 0;
}

static BIO_METHOD *socket_method;
static pthread_once_t socket_method_once = PTHREAD_ONCE_INIT;

static void make_socket_method(void) {
    BIO_METHOD *method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "skiff socket");
    if (method == NULL) return;
    if (!BIO_meth_set_write(method, bio_write) || !BIO_meth_set_read(method, bio_read)
        || !BIO_meth_set_ctrl(method, bio_ctrl)) {
        BIO_meth_free(method);
        return;
    }
    socket_method = method;
}

// MARK: - Errors

void skiff_tls_error_queue(char *buffer, size_t size) {
    if (size == 0) return;
    buffer[0] = 0;
    size_t used = 0;
    const char *data = NULL;
    int flags = 0;
    unsigned long code;
    while ((code = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        char entry[256];
        ERR_error_string_n(code, entry, sizeof entry);
        int written = snprintf(buffer + used, size - used, "%s%s%s%s%s", used ? "; " : "", entry,
                               (flags & ERR_TXT_STRING) && data && *data ? " (" : "",
                               (flags & ERR_TXT_STRING) && data ? data : "",
                               (flags & ERR_TXT_STRING) && data && *data ? ")" : "");
        if (written < 0) break;
        used += (size_t)written;
        if (used >= size) { used = size - 1; }
    }
}

// Maps the result of an SSL_* call to a skiff_tls code, capturing the reason of a failure.
static int map_result(skiff_tls *tls, int result, int reading) {
    int saved_errno = errno;
    int error = SSL_get_error(tls->ssl, result);
    switch (error) {
    case SSL_ERROR_WANT_READ: return SKIFF_TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE: return SKIFF_TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        if (reading) return SKIFF_TLS_CLOSED;
        snprintf(tls->message, sizeof tls->message, "the server closed the TLS session");
        return SKIFF_TLS_ERROR;
    default: break;
    }
    tls->failed = 1;
    skiff_tls_error_queue(tls->message, sizeof tls->message);
    if (tls->message[0] == 0) {
        if (error == SSL_ERROR_SYSCALL && saved_errno != 0) {
            snprintf(tls->message, sizeof tls->message, "%s", strerror(saved_errno));
        } else if (error == SSL_ERROR_SYSCALL) {
            snprintf(tls->message, sizeof tls->message, "the server closed the connection");
        } else {
            snprintf(tls->message, sizeof tls->message, "TLS error %d", error);
        }
    }
    return SKIFF_TLS_ERROR;
}

void skiff_tls_last_error(const skiff_tls *tls, char *buffer, size_t size) {
    if (size == 0) return;
    snprintf(buffer, size, "%s", tls->message[0] ? tls->message : "unknown TLS error");
}

// MARK: - Sessions

skiff_tls *skiff_tls_new(int fd, const char *host, int host_is_ip, int trust,
                         const char *const *ca_files, size_t ca_file_count,
                         char *error, size_t error_size) {
    if (error_size > 0) error[0] = 0;
    ERR_clear_error();
    pthread_once(&socket_method_once, make_socket_method);
    if (socket_method == NULL) {
        snprintf(error, error_size, "cannot create the socket BIO");
        return NULL;
    }
    skiff_tls *tls = calloc(1, sizeof *tls);
    if (tls == NULL) {
        snprintf(error, error_size, "out of memory");
        return NULL;
    }
    tls->context = SSL_CTX_new(TLS_client_method());
    if (tls->context == NULL) goto openssl_failed;
    if (!SSL_CTX_set_min_proto_version(tls->context, TLS1_2_VERSION)) goto openssl_failed;
    // A server that closes without close_notify ends a close-delimited body; Content-Length and
    // chunked bodies are checked for completeness by the HTTP parser.
    SSL_CTX_set_options(tls->context, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_verify(tls->context, SSL_VERIFY_NONE, NULL);
    if (trust == SKIFF_TLS_TRUST_SYSTEM) {
        if (!SSL_CTX_set_default_verify_paths(tls->context)) goto openssl_failed;
    } else if (trust == SKIFF_TLS_TRUST_CA_FILE) {
        // Each file adds its certificates to the context's one store (SSL_CTX_load_verify_file).
        for (size_t index = 0; index < ca_file_count; index++) {
            const char *ca_file = ca_files[index];  // index < ca_file_count: in bounds
            if (ca_file == NULL || !SSL_CTX_load_verify_file(tls->context, ca_file)) {
                char queue[384];
                skiff_tls_error_queue(queue, sizeof queue);
                snprintf(error, error_size, "cannot load CA certificates from %s (%s)",
                         ca_file ? ca_file : "(none)", queue[0] ? queue : "no certificates");
                skiff_tls_free(tls);
                return NULL;
            }
        }
    }
    tls->ssl = SSL_new(tls->context);
    if (tls->ssl == NULL) goto openssl_failed;
    SSL_set_mode(tls->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    X509_VERIFY_PARAM *parameters = SSL_get0_param(tls->ssl);
    X509_VERIFY_PARAM_set_hostflags(parameters, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (host_is_ip) {
        if (!X509_VERIFY_PARAM_set1_ip_asc(parameters, host)) goto openssl_failed;
    } else {
        if (!X509_VERIFY_PARAM_set1_host(parameters, host, 0)) goto openssl_failed;
        if (!SSL_set_tlsext_host_name(tls->ssl, host)) goto openssl_failed;
    }
    BIO *bio = BIO_new(socket_method);
    if (bio == NULL) goto openssl_failed;
    BIO_set_data(bio, (void *)(intptr_t)fd);
    BIO_set_init(bio, 1);
    SSL_set_bio(tls->ssl, bio, bio);
    SSL_set_connect_state(tls->ssl);
    return tls;

openssl_failed:
    skiff_tls_error_queue(error, error_size);
    if (error_size > 0 && error[0] == 0) snprintf(error, error_size, "OpenSSL setup failed");
    tls->failed = 1;
    skiff_tls_free(tls);
    return NULL;
}

int skiff_tls_handshake(skiff_tls *tls) {
    ERR_clear_error();
    errno = 0;
    int result = SSL_do_handshake(tls->ssl);
    if (result == 1) {
        tls->handshake_done = 1;
        return 1;
    }
    return map_result(tls, result, 0);
}

long skiff_tls_verify_result(const skiff_tls *tls) {
    if (SSL_get0_peer_certificate(tls->ssl) == NULL) return -1;
    return SSL_get_verify_result(tls->ssl);
}

const char *skiff_tls_verify_error_string(long result) {
    return X509_verify_cert_error_string(result);
}

int skiff_tls_peer_fingerprint(const skiff_tls *tls, int sha256, unsigned char *out) {
    X509 *certificate = SSL_get0_peer_certificate(tls->ssl);
    if (certificate == NULL) return 0;
    unsigned int length = 0;
    if (!X509_digest(certificate, sha256 ? EVP_sha256() : EVP_sha1(), out, &length)) return 0;
    return (int)length;
}

long skiff_tls_read(skiff_tls *tls, void *buffer, size_t size) {
    ERR_clear_error();
    errno = 0;
    size_t count = 0;
    if (SSL_read_ex(tls->ssl, buffer, size, &count) == 1) return (long)count;
    return map_result(tls, 0, 1);
}

long skiff_tls_write(skiff_tls *tls, const void *buffer, size_t size) {
    ERR_clear_error();
    errno = 0;
    size_t count = 0;
    if (SSL_write_ex(tls->ssl, buffer, size, &count) == 1) return (long)count;
    return map_result(tls, 0, 0);
}

void skiff_tls_free(skiff_tls *tls) {
    if (tls == NULL) return;
    if (tls->ssl != NULL) {
        if (tls->handshake_done && !tls->failed) {
            ERR_clear_error();
            (void)SSL_shutdown(tls->ssl);
        }
        SSL_free(tls->ssl);
    }
    if (tls->context != NULL) SSL_CTX_free(tls->context);
    ERR_clear_error();
    free(tls);
}

#ifndef SERGEANT_COPENSSL_SHIM_H
#define SERGEANT_COPENSSL_SHIM_H
#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

/* Function-like macros of OpenSSL, which Swift does not import, as functions. */

static inline long sergeant_ssl_set_server_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}

static inline int sergeant_ssl_ctx_set_min_tls12(SSL_CTX *context) {
    return (int)SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
}

static inline int sergeant_err_reason(unsigned long code) {
    return ERR_GET_REASON(code);
}

/* A socket BIO that sends with MSG_NOSIGNAL: OpenSSL's own writes with write(2), which
 * raises SIGPIPE (ending the process) when the server has closed the connection. The BIO's
 * data is the descriptor, which it does not own. A read or write that times out (SO_RCVTIMEO,
 * SO_SNDTIMEO) is a retry, which SSL_read/SSL_write report as SSL_ERROR_WANT_READ/WRITE. */

static int sergeant_bio_write(BIO *bio, const char *data, int length) {
    int descriptor = (int)(intptr_t)BIO_get_data(bio);
    ssize_t written;
    BIO_clear_retry_flags(bio);
    do { written = send(descriptor, data, (size_t)length, MSG_NOSIGNAL); } while (written < 0 && errno == EINTR);
    if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_write(bio);
    return (int)written;
}

static int sergeant_bio_read(BIO *bio, char *data, int length) {
    int descriptor = (int)(intptr_t)BIO_get_data(bio);
    ssize_t received;
    BIO_clear_retry_flags(bio);
    do { received = recv(descriptor, data, (size_t)length, 0); } while (received < 0 && errno == EINTR);
    if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_read(bio);
    return (int)received;
}

static long sergeant_bio_control(BIO *bio, int command, long number, void *pointer) {
    (void)bio; (void)number; (void)pointer;
    return command == BIO_CTRL_FLUSH ? 1 : 0;
}

/* The method of those BIOs: made once (by the caller) and never freed. */
static inline BIO_METHOD *sergeant_bio_method_new(void) {
    BIO_METHOD *method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sergeant socket");
    if (method == NULL) return NULL;
    BIO_meth_set_write(method, sergeant_bio_write);
    BIO_meth_set_read(method, sergeant_bio_read);
    BIO_meth_set_ctrl(method, sergeant_bio_control);
    return method;
}

/* A BIO of `method` on `descriptor`, or NULL. */
static inline BIO *sergeant_bio_new_socket(BIO_METHOD *method, int descriptor) {
    BIO *bio = BIO_new(method);
    if (bio == NULL) return NULL;
    BIO_set_data(bio, (void *)(intptr_t)descriptor);
    BIO_set_init(bio, 1);
    return bio;
}
#endif

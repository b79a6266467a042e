/*
 * LD_PRELOAD library: a bind() to a wildcard address binds loopback instead.
 *
 * amdinfer-server v0.4.0 binds its HTTP port on 0.0.0.0 and its gRPC port on
 * the IPv6 wildcard, with no flag to change either. The workload tests run the
 * real server with this library preloaded, so that it listens on 127.0.0.1 and
 * [::1] only, as every server the tests start must. Every other bind() is
 * passed on unchanged. tests/workload/amdinfer_server.py compiles it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*bind_function)(int, const struct sockaddr *, socklen_t);

int bind(int socket_fd, const struct sockaddr *address, socklen_t length) {
    static bind_function next_bind;
    if (next_bind == NULL) {
        next_bind = (bind_function)dlsym(RTLD_NEXT, "bind");
        if (next_bind == NULL) {
            errno = ENOSYS;
            return -1;
        }
    }
    if (address != NULL && address->sa_family == AF_INET &&
        length >= (socklen_t)sizeof(struct sockaddr_in)) {
        struct sockaddr_in ipv4;
        memcpy(&ipv4, address, sizeof ipv4);
        if (ipv4.sin_addr.s_addr == htonl(INADDR_ANY)) {
            ipv4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            return next_bind(socket_fd, (const struct sockaddr *)&ipv4, sizeof ipv4);
        }
    }
    if (address != NULL && address->sa_family == AF_INET6 &&
        length >= (socklen_t)sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 ipv6;
        memcpy(&ipv6, address, sizeof ipv6);
        if (IN6_IS_ADDR_UNSPECIFIED(&ipv6.sin6_addr)) {
            ipv6.sin6_addr = in6addr_loopback;
            return next_bind(socket_fd, (const struct sockaddr *)&ipv6, sizeof ipv6);
        }
    }
    return next_bind(socket_fd, address, length);
}

/* The host-keyring attack of issue "keyrings are host objects", as a workload would try it:
 *   keyring plant DESC DATA   add a user key to the caller's user keyring (run on the host)
 *   keyring remove ID         invalidate it again
 *   keyring steal DESC        list the user keyring, link it into the session keyring
 *                             (its keys are then possessed), find DESC in it and read it;
 *                             one line per step */
#include <errno.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long kc(long op, long a, long b, long c, long d) {
    return syscall(SYS_keyctl, op, a, b, c, d);
}

static const char *ename(int e) {
    switch (e) {
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOKEY: return "ENOKEY";
    case ENOSYS: return "ENOSYS";
    case EKEYREVOKED: return "EKEYREVOKED";
    default: return "OTHER";
    }
}

int main(int argc, char **argv) {
    char buf[4096];
    if (argc == 4 && !strcmp(argv[1], "plant")) {
        long id = syscall(SYS_add_key, "user", argv[2], argv[3], strlen(argv[3]),
                          KEY_SPEC_USER_KEYRING);
        if (id < 0) {
            perror("add_key");
            return 1;
        }
        printf("%ld\n", id);
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "remove")) {
        if (kc(KEYCTL_INVALIDATE, atol(argv[2]), 0, 0, 0) < 0) {
            perror("keyctl invalidate");
            return 1;
        }
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "steal")) {
        long n = kc(KEYCTL_READ, KEY_SPEC_USER_KEYRING, (long)buf, sizeof buf, 0);
        printf("LIST %s\n", n < 0 ? ename(errno) : "ok");
        printf("LINK %s\n", kc(KEYCTL_LINK, KEY_SPEC_USER_KEYRING, KEY_SPEC_SESSION_KEYRING, 0,
                                0) < 0 ? ename(errno) : "ok");
        long id = kc(KEYCTL_SEARCH, KEY_SPEC_USER_KEYRING, (long)"user", (long)argv[2], 0);
        if (id < 0) {
            printf("SEARCH %s\n", ename(errno));
            return 0;
        }
        printf("SEARCH ok\n");
        n = kc(KEYCTL_READ, id, (long)buf, sizeof buf - 1, 0);
        if (n < 0) {
            printf("READ %s\n", ename(errno));
        } else {
            buf[n < (long)sizeof buf - 1 ? n : (long)sizeof buf - 1] = 0;
            printf("READ %s\n", buf);
        }
        return 0;
    }
    fprintf(stderr, "usage: keyring plant DESC DATA | remove ID | steal DESC\n");
    return 2;
}

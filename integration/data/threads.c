/* A workload with threads for the learning tests: N threads each write one file into DIR.
 * Built statically by the tests (gcc -static -pthread). Usage: threads DIR N */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static const char *dir;

static void *work(void *arg) {
    char path[4096];
    snprintf(path, sizeof path, "%s/thread-%ld", dir, (long)arg);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return (void *)1;
    }
    fprintf(f, "%ld\n", (long)arg);
    return (void *)(long)(fclose(f) != 0);
}

int main(int argc, char **argv) {
    if (argc != 3)
        return 2;
    dir = argv[1];
    long n = atol(argv[2]);
    pthread_t t[64];
    if (n < 1 || n > 64)
        return 2;
    for (long i = 0; i < n; i++)
        if (pthread_create(&t[i], NULL, work, (void *)i) != 0) {
            perror("pthread_create");
            return 1;
        }
    int failed = 0;
    for (long i = 0; i < n; i++) {
        void *r;
        pthread_join(t[i], &r);
        failed |= r != NULL;
    }
    printf("threads: %ld wrote\n", n);
    return failed;
}

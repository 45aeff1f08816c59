/*
 * contrib/metabench.c - metadata rates: create, stat, open+read+close and
 * unlink of N small files in one directory.  Prints one line per phase:
 * "<phase> <ops per second>".
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 10000, i, fd;
	char name[64], buf[256];
	struct stat st;
	double t;

	if (argc < 2 || chdir(argv[1]) < 0 || n <= 0) {
		fprintf(stderr, "usage: metabench DIR [N]\n");
		return 2;
	}
	t = now();
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%07d", i);
		fd = open(name, O_CREAT | O_WRONLY | O_EXCL, 0644);
		if (fd < 0 || write(fd, name, 8) != 8 || close(fd) < 0)
			return perror(name), 1;
	}
	printf("create %.0f\n", n / (now() - t));
	t = now();
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%07d", i);
		if (stat(name, &st) < 0)
			return perror(name), 1;
	}
	printf("stat %.0f\n", n / (now() - t));
	t = now();
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%07d", i);
		fd = open(name, O_RDONLY);
		if (fd < 0 || read(fd, buf, sizeof(buf)) != 8 || close(fd) < 0)
			return perror(name), 1;
	}
	printf("open-read-close %.0f\n", n / (now() - t));
	t = now();
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%07d", i);
		if (unlink(name) < 0)
			return perror(name), 1;
	}
	printf("unlink %.0f\n", n / (now() - t));
	return 0;
}

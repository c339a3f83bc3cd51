/* `tl image build -o DIR`: the node image (docs/image.md). The recipe is a
 * shell script over Debian's tools (sfdisk, mtools, cpio), which do the
 * work; this verb finds it, hands it this tl for the manifest's
 * Authenticode digests, and reports the result. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tl.h"
#include "tl/util.h"

static void usage(FILE *f)
{
    fputs("usage: tl image build -o DIR [--fixtures DIR] [--agent FILE|none]\n"
          "                      [--cmdline \"...\"] [--json]\n"
          "\n"
          "Builds DIR/disk.raw (GPT + FAT ESP: shim, grub, kernel, initramfs) and\n"
          "DIR/manifest.json, reproducibly. The recipe is scripts/image-build.sh\n"
          "under $TL_DATADIR (default: the source tree tl was built from).\n",
          f);
}

int tl_cmd_image(int argc, char **argv)
{
    static const struct option options[] = {
        {"output", required_argument, NULL, 'o'},
        {"fixtures", required_argument, NULL, 'f'},
        {"agent", required_argument, NULL, 'a'},
        {"cmdline", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *out = NULL, *fixtures = NULL, *agent = NULL, *cmdline = NULL;
    bool json = false;
    int c;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        if (argc < 2) {
            fprintf(stderr, "tl: image: no verb given (build; try --help)\n");
            return TL_EXIT_BAD;
        }
        usage(stdout);
        return TL_EXIT_OK;
    }
    if (strcmp(argv[1], "build") != 0) {
        fprintf(stderr, "tl: image: unknown verb \"%s\" (build)\n", argv[1]);
        return TL_EXIT_BAD;
    }
    argc--;
    argv++;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'f':
            fixtures = optarg;
            break;
        case 'a':
            agent = optarg;
            break;
        case 'c':
            cmdline = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            usage(stdout);
            return TL_EXIT_OK;
        default:
            tl_report_option_error("image build", argv);
            return TL_EXIT_BAD;
        }
    }
    if (!out || optind < argc) {
        fprintf(stderr, "tl: image build: needs -o DIR and nothing else\n");
        return TL_EXIT_BAD;
    }
    const char *datadir = getenv("TL_DATADIR");
    _cleanup_free_ char *script = NULL, *self = realpath("/proc/self/exe", NULL);
    if (asprintf(&script, "%s/scripts/image-build.sh", datadir ? datadir : TL_SOURCE_DIR) < 0 ||
        !self)
        return TL_EXIT_BAD;
    if (access(script, R_OK) < 0) {
        tl_report(script, "the image recipe is not there (set TL_DATADIR)");
        return TL_EXIT_BAD;
    }
    const char *args[16];
    size_t n = 0;
    args[n++] = "bash";
    args[n++] = script;
    args[n++] = out;
    args[n++] = "--tl";
    args[n++] = self;
    if (fixtures) {
        args[n++] = "--fixtures";
        args[n++] = fixtures;
    }
    if (agent) {
        args[n++] = "--agent";
        args[n++] = agent;
    }
    if (cmdline) {
        args[n++] = "--cmdline";
        args[n++] = cmdline;
    }
    args[n] = NULL;

    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        tl_report(out, "cannot start the recipe: %s", strerror(errno));
        return TL_EXIT_BAD;
    }
    if (pid == 0) {
        /* The recipe's own progress goes to stderr; stdout is ours. */
        if (json)
            dup2(STDERR_FILENO, STDOUT_FILENO);
        execvp("bash", (char *const *)args);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return TL_EXIT_BAD;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        /* The recipe printed its one-line reason. */
        return TL_EXIT_BAD;
    }
    if (json) {
        _cleanup_free_ char *manifest = NULL;
        if (asprintf(&manifest, "%s/manifest.json", out) < 0)
            return TL_EXIT_BAD;
        json_error_t jerr;
        json_t *m = json_load_file(manifest, 0, &jerr);
        if (!m) {
            tl_report(manifest, "%s (line %d)", jerr.text, jerr.line);
            return TL_EXIT_BAD;
        }
        json_t *image = json_object_get(m, "image");
        tl_json_print(json_pack("{s:s, s:s, s:O, s:O, s:O}", "dir", out, "manifest", manifest,
                                "sha256", json_object_get(image, "sha256"), "size",
                                json_object_get(image, "size"), "components",
                                json_object_get(m, "components")));
        json_decref(m);
    }
    return TL_EXIT_OK;
}

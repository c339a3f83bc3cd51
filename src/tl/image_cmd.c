/* `tl image build -o DIR`: the node image (docs/image.md). The recipe is a
 * shell script over Debian's tools (sfdisk, mtools, cpio), which do the
 * work; this verb finds it, hands it this tl for the manifest's
 * Authenticode digests and the tl-agent built with this tl, and reports the
 * result. */
#include <elf.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image_check.h"
#include "output.h"
#include "tl.h"
#include "tl/util.h"
#include "tlhost/proc.h"

static void usage(FILE *f)
{
    fputs("usage: tl image build -o DIR [--generation 1|2 | --gen1] [--fixtures DIR]\n"
          "                      [--agent FILE|none] [--cmdline \"...\"] [--json]\n"
          "       tl image check DIR --vars VARSFILE [--disk FILE] [--json]\n"
          "\n"
          "Generation 1: MBR + GRUB i386-pc for legacy BIOS (SeaBIOS),\n"
          "scripts/image-build-gen1.sh; not trusted-launch capable.\n"
          "Builds DIR/disk.raw (GPT + FAT ESP: shim, grub, kernel, initramfs) and\n"
          "DIR/manifest.json, reproducibly. The recipe is scripts/image-build.sh\n"
          "under $TL_DATADIR (default: ../share/trustlaunch beside tl when installed,\n"
          "else the source tree tl was built from). --fixtures defaults to the\n"
          "fixtures tl was built with.\n"
          "The initramfs gets the tl-agent built with this tl (beside it when\n"
          "installed, src/agent/tl-agent in a build tree; never a sanitizer build)\n"
          "unless --agent names another one or none.\n",
          f);
}

/* Is the ELF file built with AddressSanitizer? clang links the ASan runtime
 * statically (ldd shows nothing), but the runtime's entry point is in the
 * dynamic symbol table either way (defined by clang's, imported from
 * libasan.so by gcc's). 1 yes, 0 no, -errno when the file is not a readable
 * 64-bit ELF. */
static int elf_has_asan(const char *path)
{
    _cleanup_free_ uint8_t *buf = NULL;
    size_t len;
    if (tlc_read_file(path, &buf, &len) < 0)
        return -EIO;
    if (len < sizeof(Elf64_Ehdr) || memcmp(buf, ELFMAG, SELFMAG) != 0 ||
        buf[EI_CLASS] != ELFCLASS64)
        return -ENOEXEC;
    Elf64_Ehdr eh;
    memcpy(&eh, buf, sizeof(eh));
    if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shoff > len ||
        (len - eh.e_shoff) / sizeof(Elf64_Shdr) < eh.e_shnum)
        return -ENOEXEC;
    for (size_t i = 0; i < eh.e_shnum; i++) {
        Elf64_Shdr sh, str;
        memcpy(&sh, buf + eh.e_shoff + i * sizeof(sh), sizeof(sh));
        if (sh.sh_type != SHT_DYNSYM || sh.sh_link >= eh.e_shnum)
            continue;
        memcpy(&str, buf + eh.e_shoff + sh.sh_link * sizeof(str), sizeof(str));
        if (sh.sh_offset > len || sh.sh_size > len - sh.sh_offset || str.sh_offset > len ||
            str.sh_size > len - str.sh_offset)
            return -ENOEXEC;
        for (size_t o = 0; o + sizeof(Elf64_Sym) <= sh.sh_size; o += sizeof(Elf64_Sym)) {
            Elf64_Sym sym;
            memcpy(&sym, buf + sh.sh_offset + o, sizeof(sym));
            /* strcmp stops within the table: 12 bytes are there */
            if (sym.st_name < str.sh_size && str.sh_size - sym.st_name > strlen("__asan_init") &&
                strcmp((const char *)buf + str.sh_offset + sym.st_name, "__asan_init") == 0)
                return 1;
        }
    }
    return 0;
}

/* The default agent: the tl-agent of this tl's build. Installed, both sit
 * in one bin directory; in a build tree tl is src/tl/tl and the agent
 * src/agent/tl-agent. A sanitizer build's agent (build-asan/) would need its
 * runtime in the guest and must never ship, so the normal build tree of the
 * source (TL_SOURCE_DIR/build) is tried after it. */
static char *default_agent(const char *self)
{
    _cleanup_free_ char *copy = strdup(self);
    if (!copy)
        return NULL;
    const char *dir = dirname(copy);
    char cand[3][4096];
    snprintf(cand[0], sizeof(cand[0]), "%s/tl-agent", dir);
    snprintf(cand[1], sizeof(cand[1]), "%s/../agent/tl-agent", dir);
    snprintf(cand[2], sizeof(cand[2]), "%s/build/src/agent/tl-agent", TL_SOURCE_DIR);
    bool asan = false;
    for (size_t i = 0; i < TL_ARRAY_SIZE(cand); i++) {
        if (access(cand[i], X_OK) < 0)
            continue;
        int r = elf_has_asan(cand[i]);
        if (r == 1)
            asan = true;
        if (r == 0)
            return realpath(cand[i], NULL);
    }
    tlc_report("image build",
               "no tl-agent to put in the image: looked for %s, %s and %s%s; "
               "build it (ninja -C build) or give --agent FILE|none",
               cand[0], cand[1], cand[2], asan ? " (the ones there are ASan builds)" : "");
    return NULL;
}

int tlc_cmd_image(int argc, char **argv)
{
    static const struct option options[] = {
        {"output", required_argument, NULL, 'o'},
        {"fixtures", required_argument, NULL, 'f'},
        {"agent", required_argument, NULL, 'a'},
        {"cmdline", required_argument, NULL, 'c'},
        {"generation", required_argument, NULL, 'g'},
        {"gen1", no_argument, NULL, '1'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *out = NULL, *fixtures = NULL, *agent = NULL, *cmdline = NULL;
    int generation = 2;
    bool json = false;
    int c;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        if (argc < 2) {
            tlc_report("image", "no verb given (build, check; try --help)");
            return TLC_EXIT_BAD;
        }
        usage(stdout);
        return TLC_EXIT_OK;
    }
    if (strcmp(argv[1], "check") == 0)
        return tlc_cmd_image_check(argc - 1, argv + 1);
    if (strcmp(argv[1], "build") != 0) {
        tlc_report("image", "unknown verb \"%s\" (build, check)", argv[1]);
        return TLC_EXIT_BAD;
    }
    argc--;
    argv++;
    optind = 1;
    opterr = 0;
    json = tlc_output_wants_json(); /* --json, --output, --query */
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
        case 'g':
            if (strcmp(optarg, "1") != 0 && strcmp(optarg, "2") != 0) {
                tlc_report("image build", "--generation: 1 or 2");
                return TLC_EXIT_BAD;
            }
            generation = optarg[0] - '0';
            break;
        case '1':
            generation = 1;
            break;
        case 'h':
            usage(stdout);
            return TLC_EXIT_OK;
        default:
            tlc_report_option_error("image build", argv);
            return TLC_EXIT_BAD;
        }
    }
    if (!out || optind < argc) {
        tlc_report("image build", "needs -o DIR and nothing else");
        return TLC_EXIT_BAD;
    }
    struct tlc_image_build b = {.out = out,
                                .fixtures = fixtures,
                                .agent = agent,
                                .cmdline = cmdline,
                                .generation = generation,
                                .json = json};
    return tlc_image_build(&b);
}

/* The folder the image recipe is in (scripts/, image/): $TL_DATADIR; else
 * installed, ../share/trustlaunch beside tl's bin directory (so a tree
 * installed with DESTDIR works where it lies); else the source tree tl was
 * built from. */
int tlc_image_datadir(char *out, size_t size)
{
    const char *env = getenv("TL_DATADIR");
    if (env && *env)
        return snprintf(out, size, "%s", env) < (int)size ? 0 : -ENAMETOOLONG;
    _cleanup_free_ char *self = realpath("/proc/self/exe", NULL);
    if (!self)
        return -errno;
    char *slash = strrchr(self, '/');
    if (slash) {
        *slash = 0;
        char probe[PATH_MAX];
        snprintf(probe, sizeof(probe), "%s/../share/trustlaunch/scripts/image-build.sh", self);
        if (access(probe, R_OK) == 0)
            return snprintf(out, size, "%s/../share/trustlaunch", self) < (int)size ? 0
                                                                                    : -ENAMETOOLONG;
    }
    return snprintf(out, size, "%s", TL_SOURCE_DIR) < (int)size ? 0 : -ENAMETOOLONG;
}

int tlc_image_build(const struct tlc_image_build *b)
{
    const char *out = b->out, *fixtures = b->fixtures, *agent = b->agent, *cmdline = b->cmdline;
    bool json = b->json;
    char datadir[PATH_MAX];
    _cleanup_free_ char *script = NULL, *self = realpath("/proc/self/exe", NULL);
    if (tlc_image_datadir(datadir, sizeof(datadir)) < 0 ||
        asprintf(&script, "%s/%s", datadir,
                 b->generation == 1 ? "scripts/image-build-gen1.sh" : "scripts/image-build.sh") <
            0 ||
        !self)
        return TLC_EXIT_BAD;
    if (access(script, R_OK) < 0) {
        tlc_report(script, "the image recipe is not there (set TL_DATADIR)");
        return TLC_EXIT_BAD;
    }
    /* the recipe's default fixtures are beside it (a source tree's
     * fixtures/); an installed recipe has none there: the ones this tl was
     * built with, when they are still there */
    char built_fixtures[PATH_MAX];
    snprintf(built_fixtures, sizeof(built_fixtures), "%s/shimx64.efi.signed", TL_FIXTURES_DIR);
    if (!fixtures && access(built_fixtures, R_OK) == 0)
        fixtures = TL_FIXTURES_DIR;
    _cleanup_free_ char *found_agent = NULL;
    if (!agent) {
        if (!(found_agent = default_agent(self)))
            return TLC_EXIT_BAD;
        agent = found_agent;
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
    args[n++] = "--agent";
    args[n++] = agent;
    if (cmdline) {
        args[n++] = "--cmdline";
        args[n++] = cmdline;
    }
    args[n] = NULL;

    /* The recipe's own progress goes to stderr; stdout is ours. It prints
     * its one-line reason itself. */
    fflush(stdout);
    struct tlh_run_options o = {.argv = args,
                                .stdout_to_stderr = json || b->to_stderr,
                                .stdout_inherit = !json && !b->to_stderr,
                                .stderr_inherit = true};
    struct tlh_run_result res;
    struct tl_error err = {0};
    int r = tlh_run(&o, &res, &err);
    tlh_run_result_done(&res);
    if (r < 0) {
        if (r != -EIO)
            tlc_report(out, "cannot start the recipe: %s", err.message);
        return TLC_EXIT_BAD;
    }
    if (json) {
        _cleanup_free_ char *manifest = NULL;
        if (asprintf(&manifest, "%s/manifest.json", out) < 0)
            return TLC_EXIT_BAD;
        json_error_t jerr;
        json_t *m = json_load_file(manifest, 0, &jerr);
        if (!m) {
            tlc_report(manifest, "%s (line %d)", jerr.text, jerr.line);
            return TLC_EXIT_BAD;
        }
        json_t *image = json_object_get(m, "image");
        json_t *gen = json_object_get(m, "generation");
        tlc_json_print(json_pack("{s:s, s:s, s:O, s:O, s:O, s:I}", "dir", out, "manifest", manifest,
                                 "sha256", json_object_get(image, "sha256"), "size",
                                 json_object_get(image, "size"), "components",
                                 json_object_get(m, "components"), "generation",
                                 gen ? json_integer_value(gen) : (json_int_t)2));
        json_decref(m);
    }
    return TLC_EXIT_OK;
}

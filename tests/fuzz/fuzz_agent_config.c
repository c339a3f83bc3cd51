/* libFuzzer target: the agent's config document (src/agent/config.c,
 * agent_config_parse), which the platform hands the node through QEMU
 * fw_cfg. Anything accepted must pass the same field checks the parser
 * promises (a token that is safe in an HTTP header, a URL without spaces,
 * a node name of [A-Za-z0-9._-]); a rejection must say why. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct agent_config cfg;
    char err[256];
    memset(&cfg, 0, sizeof(cfg));
    err[0] = 0;
    if (agent_config_parse(data, size, &cfg, err, sizeof(err)) < 0) {
        if (!err[0] || !memchr(err, 0, sizeof(err)))
            __builtin_trap();
        return 0;
    }
    if ((cfg.url[0] && agent_config_check_url(cfg.url)) ||
        (cfg.token[0] && agent_config_check_token(cfg.token)) ||
        (cfg.node[0] && agent_config_check_node(cfg.node)))
        __builtin_trap();
    return 0;
}

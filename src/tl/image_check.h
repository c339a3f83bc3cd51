/* `tl image check DIR --vars VARS.fd [--disk DISK] [--json]`: would the
 * firmware and shim with these keys start the image's boot chain? */
#pragma once

int tlc_cmd_image_check(int argc, char **argv);

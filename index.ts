// Entry point for `pulumi up` / `pulumi preview`: validate the stack config, declare every enabled platform.
// Stack outputs: per platform, the addresses, hosts and URLs an operator needs (secrets stay secrets).
import { declareLazarus } from "./stacks";

export = declareLazarus();

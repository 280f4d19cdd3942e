// The platforms a stack can enable. Config loading, the offline plan, the docs and the tests iterate over this list:
// adding a platform is its folder under stacks/, one line here, and its block in the stack files.
import { bunty } from "./bunty";
import { dbis } from "./dbis";
import { giv } from "./giv";
import { goodgo } from "./goodgo";
import { kro } from "./kro";
import { pencom } from "./pencom";
import type { PlatformModule } from "./platform";
import { waqiti } from "./waqiti";

// Each module is typed by its own config and plan; the loader handles them through the contract alone.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPlatform = PlatformModule<any, any>;

export const PLATFORMS: readonly AnyPlatform[] = [kro, goodgo, bunty, dbis, giv, pencom, waqiti];

import { MemoryEventStore } from "../../../adapters/store/mod.ts";
import { storeContract } from "./_contract.ts";

storeContract("MemoryEventStore", () => Promise.resolve(new MemoryEventStore()));

#!/usr/bin/env node
import { launch } from './launch.js'

await launch('conax-adapter', 'dist/src/cli/adapter-main.js', 'runAdapterCli')

#!/usr/bin/env node
import { launch } from './launch.js'

await launch('conax-sim', 'dist/simulator/src/cli/main.js', 'runCli')

// The volunteer page's Web Worker: every job, fetch and CLIP run happens here, never on the page's thread.
import * as Comlink from 'comlink';
import { createController } from './controller.ts';

Comlink.expose(createController());

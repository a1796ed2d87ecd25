/**
 * The app behind cdk.json: `npx cdk synth` writes cdk.out/linkgate-provider.template.json and
 * cdk.out/linkgate-consumer.template.json, offline (fixed accounts, Regions and zones; no lookups).
 */
import { App } from 'aws-cdk-lib';
import { buildExampleApp } from './build';

const app = new App();
buildExampleApp(app);
app.synth();

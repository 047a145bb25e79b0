export { enrollDevice, type EnrollDeviceOptions, type EnrolledDevice } from './client.js';

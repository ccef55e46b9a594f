// `express4` is an npm alias of express@4; @types/express describes both majors' public API.
declare module 'express4' {
  import express from 'express';
  export default express;
}

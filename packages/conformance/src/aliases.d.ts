// The Express 4 and Koa 2 npm aliases ship no types of their own; their APIs used here match the
// current majors' types.
declare module 'express4' {
  import express from 'express';
  export default express;
}

declare module 'koa2' {
  import Koa from 'koa';
  export default Koa;
}

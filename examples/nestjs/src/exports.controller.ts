import { Body, Controller, Get, NotFoundException, Param, Post } from '@nestjs/common';
import { ExportsService } from './exports.service';

/** The rest of your API: ordinary Nest routes with parsed JSON bodies. */
@Controller('exports')
export class ExportsController {
  constructor(private readonly exports: ExportsService) {}

  @Post()
  create(@Body() body: { id: string }) {
    return this.exports.create(body.id);
  }

  @Get(':id')
  find(@Param('id') id: string) {
    const record = this.exports.find(id);
    if (!record) throw new NotFoundException('no such export');
    return record;
  }
}
